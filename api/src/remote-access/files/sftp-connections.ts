import { Injectable } from '@nestjs/common';

/** Placeholder: being built (issue 14). */
@Injectable()
export class SftpConnections {}
